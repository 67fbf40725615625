// Copies the front-end files the pages use from node_modules into src/felles/portal/static/vendor/.
// Run by `npm run build` after `npm ci`; the copies are not committed (see .gitignore).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const portal = dirname(fileURLToPath(import.meta.url));
const root = join(portal, "..", "..", "..");
const modules = join(root, "node_modules");
const vendor = join(portal, "static", "vendor");

// vendor file name <- file in node_modules
const files = {
  "designsystemet.css": "@digdir/designsystemet-css/dist/src/index.css",
  "designsystemet-theme.css": "@digdir/designsystemet-theme/brand/digdir.css",
  "htmx.min.js": "htmx.org/dist/htmx.min.js",
  // The API documentation pages (/docs, /redoc), served from here rather than a CDN.
  "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
  "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
  "swagger-ui-favicon.png": "swagger-ui-dist/favicon-32x32.png",
  "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
  "LICENSE-designsystemet-css.txt": "@digdir/designsystemet-css/LICENSE",
  "LICENSE-designsystemet-theme.txt": "@digdir/designsystemet-theme/LICENSE",
  "LICENSE-htmx.txt": "htmx.org/LICENSE",
  "LICENSE-swagger-ui.txt": "swagger-ui-dist/LICENSE",
  "LICENSE-redoc.txt": "redoc/LICENSE",
};

const missing = Object.values(files).filter((source) => !existsSync(join(modules, source)));
if (missing.length > 0) {
  console.error(`Missing in node_modules (run \`npm ci\` first): ${missing.join(", ")}`);
  process.exit(1);
}
rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(modules, source), join(vendor, name));
  console.log(`${relative(root, join(vendor, name))} <- ${source}`);
}

// Redoc's menu shows the Redocly logo from Redocly's CDN, which would tell it who reads our documentation (and
// the page's policy blocks it anyway): the copy shows an empty image there instead. Fails loudly if a new Redoc
// release moves the logo, so that the change is seen.
const redoc = join(vendor, "redoc.standalone.js");
const logo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const script = readFileSync(redoc, "utf8");
if (!script.includes(logo)) {
  console.error(`${relative(root, redoc)}: the Redocly logo URL ${logo} is no longer there; check what it loads now.`);
  process.exit(1);
}
writeFileSync(redoc, script.replaceAll(logo, "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"));
console.log(`${relative(root, redoc)}: the Redocly logo from this file, not from Redocly's CDN`);
