/**
 * Runs several example modules one after another in ONE child process, each as `node <module>` would run it,
 * and hands each module's own output back: a child importing our packages costs ~0.6 s of CPU, most of an
 * example's run, so one process for a dozen examples saves most of their CPU.
 *
 * The child (this file run as a script) imports a module, waits until Node's event loop has nothing left to do
 * (`beforeExit`: where a process of its own would exit), and only then imports the next. Each module sees
 * `process.argv` as `node <module>` would give it (an example that starts itself again as a child still works).
 * A module fails the batch where its own process would have failed: runMain's `process.exit(1)`, an uncaught
 * error, a rejected or never settled top-level await (Node's exit code 13), a `process.exitCode` left non-zero.
 * What a batch cannot run: a module that runs only as the main module (`import.meta.main`), one that reads stdin
 * (unless it is the only one), or a server that waits for a signal. Those get a child of their own.
 *
 * @example
 * const outputs = runModules(["a.ts", "b.ts"], { cwd })
 * expect(await outputs.get("a.ts")).toContain("a's line") // fails with the batch's stderr if a.ts failed
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { type Child, start } from "./child.ts"

/** The line that opens (and the one that closes) a module's output, on stdout and stderr. */
const mark = (what: "start" | "end", path: string) => `--- module-batch ${what}: ${path}`

/**
 * Starts the batch child: the modules run in this order. Each path's promise resolves with what the module
 * printed on stdout, once it ran to its end; it rejects with what it printed, its stderr and how the batch ended
 * when the module failed, or did not run (a module before it failed).
 */
export const runModules = (
  paths: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly input?: string } = {}
): ReadonlyMap<string, Promise<string>> => {
  // (a module is imported once per process: a second time would print nothing)
  if (new Set(paths).size !== paths.length) throw new Error(`a module twice in one batch: ${paths.join(" ")}`)
  const child: Child = start([import.meta.filename, ...paths], options)
  child.process.stdin?.end(options.input ?? "")
  // the hang bound (child.ts HANG_MILLIS) is per module: each module's end must come within it of the last's
  const finished = (async (): Promise<string> => {
    for (const path of paths) {
      try {
        await child.line(mark("end", path))
      } catch (error) {
        if (child.process.exitCode !== null || child.process.signalCode !== null) break // it failed: see below
        child.process.kill("SIGKILL")
        return (error as Error).message // hung
      }
    }
    const { code, signal } = await child.exited()
    return `the batch exited with ${code ?? signal}`
  })()
  return new Map(
    paths.map((path) => {
      const output = finished.then((end) => {
        const out = section(child.stdout(), path)
        if (out?.ended) return out.text
        const why =
          out === undefined ? "it did not run: a module before it failed" : "it failed (the batch stopped there)"
        throw new Error(
          `${path}: ${why}; ${end}\n` +
            `its stdout:\n${out?.text ?? ""}\nits stderr:\n${section(child.stderr(), path)?.text ?? child.stderr()}`
        )
      })
      // whoever awaits it gets its failure; one nobody awaits (a test left out by a filter) is no unhandled rejection
      output.catch(() => undefined)
      return [path, output] as const
    })
  )
}

/** What the module printed between its marks, exactly (`ended`: it reached its end mark). */
const section = (output: string, path: string) => {
  const lines = output.split("\n")
  const from = lines.indexOf(mark("start", path))
  if (from === -1) return undefined
  // (a last line without its newline has the end mark after it)
  const to = lines.findIndex((line, i) => i > from && line.endsWith(mark("end", path)))
  if (to === -1) return { text: lines.slice(from + 1).join("\n"), ended: false }
  const last = lines[to]!.slice(0, -mark("end", path).length)
  return { text: lines.slice(from + 1, to).join("\n") + (to > from + 1 ? "\n" : "") + last, ended: true }
}

/**
 * The child: imports each module in turn, the next once the event loop of the last has emptied. (The next starts
 * from an immediate: Node emits `beforeExit` again only when the loop was alive after the last one, and a module
 * that does all its work while it is imported, in microtasks and synchronous calls, would leave it dead.)
 */
const batch = (paths: ReadonlyArray<string>) => {
  let index = 0
  let current: { readonly path: string; settled: boolean } | undefined
  const begin = (path: string) => {
    const running = { path, settled: false }
    current = running
    for (const write of [process.stdout, process.stderr]) write.write(`${mark("start", path)}\n`)
    process.argv.splice(1, process.argv.length - 1, resolve(path))
    import(pathToFileURL(path).href).then(
      () => {
        running.settled = true
      },
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      }
    )
  }
  // where a process of the module's own would exit: with 13 on an unsettled top-level await, else its exit code
  const finish = () => {
    if (current === undefined) return
    if (!current.settled) {
      console.error(`${current.path}: its top-level await never settled (Node exits with 13)`)
      process.exit(13)
    }
    const code = Number(process.exitCode ?? 0)
    if (code !== 0) process.exit(code)
    for (const write of [process.stdout, process.stderr]) write.write(`${mark("end", current.path)}\n`)
    current = undefined
    const path = paths[index++]
    if (path !== undefined) setImmediate(() => begin(path))
  }
  process.on("beforeExit", finish)
  const first = paths[index++]
  if (first !== undefined) begin(first)
}

if (import.meta.main) batch(process.argv.slice(2))
