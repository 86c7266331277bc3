// jco_component.mjs — makes a test component from a clang-built core module
// and a WIT world, with jco's bundled wasm-tools (the steps of
// `wasm-tools component embed` and `component new`):
//   node jco_component.mjs JCO_DIR CORE.wasm WORLD.wit WORLD OUT.wasm
// JCO_DIR is the npm prefix jco was installed in (scripts/install-deps.sh).
// The WIT is passed as text: `jco embed --wit PATH` cannot open files from
// inside its sandboxed wasm-tools on Linux, jco 1.35.0.
import { readFileSync, writeFileSync } from "node:fs";

const [jcoDir, core, wit, world, out] = process.argv.slice(2);
const tools = await import(
  jcoDir + "/node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js");
const embedded = await tools.componentEmbed({
  binary: readFileSync(core),
  witSource: readFileSync(wit, "utf8"),
  world,
});
writeFileSync(out, await tools.componentNew(embedded, []));
