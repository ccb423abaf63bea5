// Render LaTeX strings with KaTeX (throwOnError, display mode): reads a JSON array of strings on
// stdin, writes a JSON array with null (rendered) or the error message for each, in order.
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((s) => {
    try {
      katex.renderToString(s, { throwOnError: true, displayMode: true, strict: "error" });
      return null;
    } catch (e) {
      return String(e.message || e);
    }
  });
  process.stdout.write(JSON.stringify(results));
});
