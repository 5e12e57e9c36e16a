/**
 * A vitest setup file (in each worker, before each test file): every child process the tests start (they inherit
 * `process.env`) preloads the bundle of our packages that `bundle.ts` built, instead of importing their sources.
 */
import { inject } from "vitest"

const preload = inject("childPreload")
const options = process.env.NODE_OPTIONS ?? ""
if (preload !== "" && !options.includes(preload)) {
  process.env.NODE_OPTIONS = `${options} --import=${preload}`.trim()
}
