#!/bin/sh
# POST /cgi-bin/register: one more registration (kept in /tmp, per container).
bb=/bin/busybox
$bb head -c "${CONTENT_LENGTH:-0}" >/dev/null
echo x >>/tmp/registrations
printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n'
printf '{"success": true, "data": {"count": %s}}\n' "$($bb wc -l </tmp/registrations)"
