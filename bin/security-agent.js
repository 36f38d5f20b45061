#!/usr/bin/env node
// The installed command: runs the compiled CLI (`npm ci` builds dist/ through `prepare`).
import "../dist/main.js"
