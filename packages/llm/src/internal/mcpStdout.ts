/**
 * The stdout of an MCP server over stdio, with the lines that are not MCP messages left out. Servers write logs
 * there (a `console.log` in a tool), which the protocol forbids but the official SDK's client skips; `effect/ai`'s
 * client closes the connection for good at the first one. Each line that does not start with `{` (after
 * blanks) is dropped, with a warning naming the server and the start of the line; the others pass unchanged and
 * unbuffered (a message is never held whole here, so the client's size limit still applies).
 */
import { Effect, Layer, Stream } from "effect"
import { ChildProcessSpawner } from "effect/process"

type Line = "start" | "keep" | "drop"

/** Keeps the lines of `text` chunks that may be JSON messages; calls `dropped` with the start of each other line. */
export const messagesOnly = <E, R>(
  text: Stream.Stream<string, E, R>,
  dropped: (start: string) => Effect.Effect<void>
): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    let line: Line = "start"
    let blanks = ""
    let skipped = ""
    return text.pipe(
      Stream.mapEffect((chunk) => {
        let out = ""
        const drops: Array<string> = []
        let at = 0
        while (at < chunk.length) {
          if (line === "start") {
            const char = chunk[at]!
            if (char === "\n") {
              out += `${blanks}\n`
              blanks = ""
              at++
            } else if (char === " " || char === "\t" || char === "\r") {
              blanks += char
              at++
            } else {
              line = char === "{" ? "keep" : "drop"
              if (line === "keep") out += blanks
              blanks = ""
            }
            continue
          }
          const end = chunk.indexOf("\n", at)
          const part = end < 0 ? chunk.slice(at) : chunk.slice(at, end + 1)
          if (line === "keep") out += part
          else if (skipped.length < 200) skipped += part.slice(0, 200 - skipped.length)
          at += part.length
          if (end >= 0) {
            if (line === "drop") drops.push(skipped.trimEnd())
            skipped = ""
            line = "start"
          }
        }
        return Effect.as(Effect.forEach(drops, dropped, { discard: true }), out)
      }),
      Stream.filter((out) => out.length > 0)
    )
  })

/**
 * A spawner whose processes' stdout carries only what may be MCP messages (see the module), over the spawner in
 * context; `server` names the server in the warnings.
 */
export const layer = (server: string) =>
  Layer.effect(
    ChildProcessSpawner.ChildProcessSpawner,
    Effect.map(ChildProcessSpawner.ChildProcessSpawner, (spawner) =>
      ChildProcessSpawner.make((command) =>
        Effect.map(spawner.spawn(command), (handle) =>
          ChildProcessSpawner.makeHandle({
            ...handle,
            stdout: messagesOnly(Stream.decodeText(handle.stdout), (start) =>
              Effect.logWarning(`MCP server ${server} wrote a line that is not MCP to its stdout (skipped): ${start}`)
            ).pipe(Stream.encodeText)
          })
        )
      )
    )
  )
