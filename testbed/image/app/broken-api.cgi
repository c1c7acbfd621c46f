#!/bin/sh
# BROKEN=api: the API fails (its /healthcheck stays green).
printf 'HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\ninternal error\n'
