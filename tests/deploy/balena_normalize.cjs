// Balena's compose parser (@balena/compose 7.x, parse.normalize) over a
// composition given as JSON on stdin: prints the normalized composition as
// JSON, or the parser's refusal on stderr with exit 1.
// Usage: NODE_PATH=<dir>/node_modules node balena_normalize.cjs < composition.json
"use strict";
const compose = require("@balena/compose");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  try {
    const normalized = compose.parse.normalize(JSON.parse(input));
    process.stdout.write(JSON.stringify(normalized));
  } catch (error) {
    process.stderr.write(`${error.name}: ${error.message}\n`);
    process.exit(1);
  }
});
