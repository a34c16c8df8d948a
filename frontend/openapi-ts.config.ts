import { defineConfig } from "@hey-api/openapi-ts";

// The API client is generated from the backend's OpenAPI document; never edit src/client by hand.
// OUTPUT lets `npm run check-client` generate into a temporary folder and compare.
// Enums come out as objects too (JobStatus's values at run time), and the schemas plugin gives
// the form each config field's JSON Schema (type, bounds, default, description).
export default defineConfig({
  input: "./openapi.json",
  output: { path: process.env.OPENAPI_TS_OUTPUT ?? "./src/client", postProcess: [] },
  plugins: [
    { name: "@hey-api/client-fetch", throwOnError: true },
    { name: "@hey-api/typescript", enums: "javascript" },
    "@hey-api/sdk",
    "@hey-api/schemas",
  ],
});
