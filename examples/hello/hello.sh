#!/bin/sh
echo "$GREETING from bld: $(cat /app/built.txt), running as $(id -un) in $(hostname)"
