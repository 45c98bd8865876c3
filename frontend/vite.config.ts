import { defineConfig } from "vitest/config";

// Absolute base: the desktop window loads the build at "/", browser guests at
// "/r/ROOM"; the server serves the assets at the root for both.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
