// Fails when src/client is not what @hey-api/openapi-ts generates from openapi.json today:
// the client is generated, never edited by hand.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const committed = "src/client";
const fresh = mkdtempSync(join(tmpdir(), "studio-client-"));

function files(root, dir = root) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(root, path) : [relative(root, path)];
  });
}

try {
  execFileSync("npx", ["openapi-ts"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, OPENAPI_TS_OUTPUT: fresh },
  });
  const want = files(fresh).sort();
  const have = files(committed).sort();
  const differing = [...new Set([...want, ...have])].filter(
    (f) =>
      !want.includes(f) ||
      !have.includes(f) ||
      readFileSync(join(fresh, f), "utf8") !== readFileSync(join(committed, f), "utf8"),
  );
  if (differing.length) {
    console.error(
      `src/client differs from what openapi.json generates (${differing.join(", ")}).\n` +
        "Run `npm run generate-client` (after exporting openapi.json from the backend).",
    );
    process.exit(1);
  }
  console.log(`src/client matches openapi.json (${want.length} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
