/**
 * The packages bundled for the child processes of the tests. A child that imports `@troupe/runtime` from its
 * TypeScript source loads ~800 modules (effect's barrel, our sources, stripped of their types one by one): 1-1.5 s
 * of CPU per start. {@link bundle} builds `effect`, `@effect/*` and our packages once per run with rolldown into
 * a few dozen chunks, and writes a preload (`hooks.mjs`) that sends every import of them to the bundle: each child
 * whose `NODE_OPTIONS` has `--import <hooks.mjs>` loads the bundle instead (~half the CPU per start).
 *
 * What the preload maps: a module, after Node resolved it as usual, when it is one of the bundle's entries (each
 * package's `exports` and `bin`, and every module of a bundled package that a file of the repository imports by
 * name or path: found by reading them). So a CLI and the user modules it loads (`--agents file.ts`) share one
 * instance of effect and of each package, and the scripts and fixtures the tests start stay source files. A module
 * of the bundle that is not an entry fails its import with a message that says so (it would be a second copy);
 * the preload maps nothing outside the repository (a packed install in a temp dir keeps its own packages).
 *
 * The bundle is kept in the temp dir under a hash of the sources (paths, sizes, modification times), so a run
 * whose sources did not change reuses the last one; `TROUPE_TEST_BUNDLE=0` runs the children from source.
 *
 * @example
 * const hooks = await bundle(root) // in a vitest globalSetup
 * child env: { ...process.env, NODE_OPTIONS: `--import=${hooks}` }
 */
import { createHash } from "node:crypto"
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import { pathToFileURL } from "node:url"
import { build, type Plugin } from "rolldown"
import type { TestProject } from "vitest/node"

/** Our packages in the bundle (`examples` stays source: its files are the scripts the tests run). */
const PACKAGES = ["agreement", "choreography", "cli", "inspector", "llm", "runtime", "transport"]

/** The dependencies in the bundle: those that import effect (one instance per process). */
const bundledDependency = (specifier: string) =>
  (specifier === "effect" || specifier.startsWith("effect/") || specifier.startsWith("@effect/")) &&
  !specifier.startsWith("@effect/vitest")

/** Where the bundles are kept (one directory per hash of the sources). */
const HOME = join(tmpdir(), "troupe-test-bundle")

/**
 * Builds the bundle of `root`'s packages, or finds the one built from the same sources, and returns the path of
 * its preload. Fails (with rolldown's message) when the build fails: the children never silently run another
 * copy.
 */
export const bundle = async (root: string): Promise<string> => {
  const found = entries(root, sources(root))
  const dir = join(HOME, fingerprint(root, found))
  const hooks = join(dir, "hooks.mjs")
  if (existsSync(hooks)) {
    const now = new Date()
    utimesSync(dir, now, now)
    return hooks
  }
  prune()
  const building = `${dir}.${process.pid}.building`
  rmSync(building, { recursive: true, force: true })
  await write(root, found, building)
  try {
    renameSync(building, dir)
  } catch (error) {
    // another run built the same bundle meanwhile: keep theirs
    rmSync(building, { recursive: true, force: true })
    if (!existsSync(hooks)) throw error
  }
  return hooks
}

/** The files of the repository whose imports name the bundle's entries. */
const sources = (root: string): ReadonlyArray<string> => [...walk(join(root, "packages")), ...walk(join(root, "test"))]

/** The modules under `dir`, outside `node_modules` and `dist`. */
const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) return []
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return walk(path)
    return /\.(?:[mc]?ts|[mc]?js)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : []
  })

/**
 * What the bundle is made of: this file, the installed versions, the Node that runs the children, the entries and
 * the bundled packages' sources (their paths, sizes and modification times). A test's change alone does not make
 * a new bundle.
 */
const fingerprint = (root: string, found: ReadonlyArray<Entry>): string => {
  const hash = createHash("sha256")
  hash.update(`${root}\n${process.version}\n${readFileSync(import.meta.filename, "utf8")}\n`)
  hash.update(readFileSync(join(root, "pnpm-lock.yaml")))
  hash.update(JSON.stringify(found.map((entry) => entry.specifier)))
  for (const file of PACKAGES.flatMap((name) => walk(join(root, "packages", name, "src"))).sort()) {
    const { size, mtimeMs } = statSync(file)
    hash.update(`${file} ${size} ${mtimeMs}\n`)
  }
  return hash.digest("hex").slice(0, 16)
}

/** Removes the bundles of other sources not used for a day (each run touches its own when it starts). */
const prune = () => {
  if (!existsSync(HOME)) return
  for (const name of readdirSync(HOME)) {
    const path = join(HOME, name)
    if (Date.now() - statSync(path).mtimeMs > 24 * 3_600_000) rmSync(path, { recursive: true, force: true })
  }
}

/** An entry: what to resolve, from where. */
interface Entry {
  readonly specifier: string
  readonly importer: string
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g

/**
 * The entries: each package's `exports` and `bin`, and every bundled module that a file outside its package's
 * sources imports (by name: `effect/Schema`; by path: `../../src/index.ts`).
 */
const entries = (root: string, files: ReadonlyArray<string>): ReadonlyArray<Entry> => {
  const found = new Map<string, Entry>()
  const add = (key: string, entry: Entry) => {
    if (!found.has(key)) found.set(key, entry)
  }
  for (const name of PACKAGES) {
    const dir = join(root, "packages", name)
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      readonly exports?: Readonly<Record<string, string>>
      readonly bin?: Readonly<Record<string, string>>
    }
    for (const target of [...Object.values(manifest.exports ?? {}), ...Object.values(manifest.bin ?? {})]) {
      const path = resolve(dir, target)
      add(path, { specifier: path, importer: path })
    }
  }
  const bundledSource = (path: string) =>
    PACKAGES.some((name) => path.startsWith(join(root, "packages", name, "src") + sep))
  for (const file of files) {
    const text = readFileSync(file, "utf8")
    for (const [, specifier] of text.matchAll(IMPORT)) {
      if (specifier === undefined) continue
      // (an import of effect between bundled modules stays inside the bundle)
      if (bundledDependency(specifier)) {
        if (!bundledSource(file)) add(specifier, { specifier, importer: file })
      } else if (specifier.startsWith(".")) {
        const path = resolve(dirname(file), specifier)
        // an import between the sources of one package stays inside the bundle
        const samePackage =
          relative(join(root, "packages"), path).split(sep)[0] === relative(join(root, "packages"), file).split(sep)[0]
        if (bundledSource(path) && !(bundledSource(file) && samePackage) && existsSync(path)) {
          add(path, { specifier: path, importer: path })
        }
      }
    }
  }
  return [...found.values()].sort((a, b) => (a.specifier < b.specifier ? -1 : a.specifier > b.specifier ? 1 : 0))
}

/** `import.meta` in a bundled module means its source file's (the bundle is elsewhere). */
const importMeta = (root: string): Plugin => ({
  name: "troupe-import-meta",
  transform(code, id) {
    if (!code.includes("import.meta")) return null
    const replaced = code
      .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(id).href))
      .replaceAll("import.meta.dirname", JSON.stringify(dirname(id)))
      .replaceAll("import.meta.filename", JSON.stringify(id))
    const other = /import\.meta\.\w+/.exec(replaced.replaceAll(/\/\/.*|\/\*[\s\S]*?\*\//g, ""))
    if (other !== null) {
      throw new Error(
        `${relative(root, id)} uses ${other[0]}, which test/support/bundle.ts cannot keep for the bundle of the ` +
          "tests' children: give it a meaning there, or keep that module out of the bundle"
      )
    }
    return replaced
  }
})

/** The key of a resolved module in the preload: its path under the repository, or under its package (the same
 * function is written into the preload). */
const key = (rootUrl: string, url: string): string | undefined => {
  if (!url.startsWith(rootUrl)) return undefined
  const at = url.lastIndexOf("/node_modules/")
  return at === -1 ? url.slice(rootUrl.length) : url.slice(at + "/node_modules/".length)
}

const write = async (root: string, list: ReadonlyArray<Entry>, out: string) => {
  mkdirSync(out, { recursive: true })
  const packages = join(root, "packages")
  const bundled = (id: string) =>
    /[\\/]node_modules[\\/](?:effect|@effect[\\/](?!vitest))/.test(id) ||
    PACKAGES.some((name) => id.startsWith(join(packages, name, "src") + sep))
  const input: Record<string, string> = {}
  const byId = new Map<string, Entry>()
  for (const [index, entry] of list.entries()) {
    const name = isAbsolute(entry.specifier) ? relative(packages, entry.specifier) : entry.specifier
    const id = `\0troupe-entry:${index}`
    const file = name.replaceAll(/[^\w.-]+/g, "_").replace(/\.[mc]?[jt]s$/, "")
    input[file in input ? `${file}_${index}` : file] = id
    byId.set(id, entry)
  }
  const placement: Plugin = {
    name: "troupe-placement",
    async resolveId(source, importer, options) {
      const entry = byId.get(source)
      if (entry !== undefined) {
        const found = await this.resolve(entry.specifier, entry.importer, { ...options, skipSelf: true })
        if (found === null || found.external) {
          throw new Error(`${entry.specifier} (imported in ${relative(root, entry.importer)}) is not a module`)
        }
        return found
      }
      if (importer === undefined || source.startsWith("node:")) return null
      const found = await this.resolve(source, importer, { ...options, skipSelf: true })
      if (found === null || found.external || bundled(found.id)) return found
      // any other package stays where it is installed: imported by its absolute path from the bundle
      return { id: found.id, external: "absolute" }
    }
  }
  const result = await build({
    input,
    cwd: root,
    platform: "node",
    logLevel: "warn",
    resolve: { conditionNames: ["import", "node", "default"] },
    plugins: [placement, importMeta(root)],
    output: {
      dir: out,
      format: "esm",
      // .mjs: with .js and no package.json, Node would parse every chunk twice to guess its format
      entryFileNames: "[name].mjs",
      chunkFileNames: "chunks/[name]-[hash].mjs",
      // JSDoc is half the size of effect's code: reading and compiling it is most of a child's start
      comments: false,
      // class and function names as in the sources (error messages, `constructor.name`)
      keepNames: true
    }
  })
  const rootUrl = pathToFileURL(root + sep).href
  const mapped: Array<readonly [string, string]> = []
  const inside = new Set<string>()
  for (const chunk of result.output) {
    if (chunk.type !== "chunk") continue
    for (const id of chunk.moduleIds) {
      const k = key(rootUrl, pathToFileURL(id).href)
      if (k !== undefined) inside.add(k)
    }
    if (chunk.isEntry && chunk.facadeModuleId !== null) {
      const k = key(rootUrl, pathToFileURL(chunk.facadeModuleId).href)
      if (k !== undefined) mapped.push([k, chunk.fileName])
    }
  }
  for (const [k] of mapped) inside.delete(k)
  writeFileSync(join(out, "hooks.mjs"), preload(rootUrl, mapped, [...inside]))
}

/** The preload: a resolve hook (Node's `module.registerHooks`, in the child's thread) that maps the entries. */
const preload = (rootUrl: string, mapped: ReadonlyArray<readonly [string, string]>, inside: ReadonlyArray<string>) =>
  `// Written by test/support/bundle.ts: sends the imports of bundled modules to the bundle.
import { registerHooks } from "node:module"
const root = ${JSON.stringify(rootUrl)}
// (each entry's file, by its URL next to this one's: the directory is renamed once built)
const entries = new Map(${JSON.stringify(mapped)}.map(([k, file]) => [k, new URL(file, import.meta.url).href]))
const inside = new Set(${JSON.stringify(inside)})
const key = (rootUrl, url) => {
  if (!url.startsWith(rootUrl)) return undefined
  const at = url.lastIndexOf("/node_modules/")
  return at === -1 ? url.slice(rootUrl.length) : url.slice(at + "/node_modules/".length)
}
// registerHooks: Node 22.15 and 23.5 on (another Node, e.g. of a package manager, runs as it would)
if (typeof registerHooks === "function") {
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context)
      const k = key(root, resolved.url)
      if (k === undefined) return resolved
      const url = entries.get(k)
      if (url !== undefined) return { url, format: "module", shortCircuit: true }
      if (inside.has(k)) {
        throw new Error(
          resolved.url + " (imported as " + JSON.stringify(specifier) + " from " + context.parentURL + ") is in " +
            "the bundle of the tests' child processes but is not one of its entries (a second copy would load): " +
            "see test/support/bundle.ts, or run with TROUPE_TEST_BUNDLE=0"
        )
      }
      return resolved
    }
  })
}
`

declare module "vitest" {
  export interface ProvidedContext {
    /** The preload of the bundle for the tests' child processes ("" when they run from source). */
    readonly childPreload: string
  }
}

/**
 * vitest's globalSetup (once per run, in its main process): builds the bundle, and provides its preload to the
 * workers, where `bundle-env.ts` puts it in the `NODE_OPTIONS` that every child process inherits.
 */
export const setup = async (project: TestProject) => {
  const off = process.env.TROUPE_TEST_BUNDLE === "0"
  project.provide("childPreload", off ? "" : await bundle(project.config.root))
}
