#!/bin/sh
# POST /cgi-bin/login (username=...&password=...): the testbed's test account.
# The image holds only the password's sha256 (@PASSWORD_SHA256@), set by publish.sh.
bb=/bin/busybox
body=$($bb head -c "${CONTENT_LENGTH:-0}")
field() { printf '%s' "$body" | $bb tr '&' '\n' | $bb sed -n "s/^$1=//p" | $bb head -n 1; }
user=$(field username)
sum=$(field password | $bb sha256sum | $bb cut -d' ' -f1)
if [ "$REQUEST_METHOD" = POST ] && [ "$user" = "@USERNAME@" ] && [ "$sum" = "@PASSWORD_SHA256@" ]; then
  printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n'
  printf '{"success": true, "data": {"name": "Test Member", "username": "%s"}}\n' "$user"
else
  printf 'HTTP/1.0 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n'
  printf '{"success": false, "message": "wrong username or password"}\n'
fi
