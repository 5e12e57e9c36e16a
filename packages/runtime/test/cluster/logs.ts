/** Waiting for what a runner logs: a test that must act once the runner has done something it only logs. */
import { Logger } from "effect"

/**
 * A logger layer, and a promise resolved at the first log whose message includes `text`.
 *
 * @example
 * const refused = firstLog("could not be stored")
 * await Effect.runPromise(program.pipe(Effect.provide(refused.layer)))
 */
export const firstLog = (text: string) => {
  let resolve: () => void = () => {}
  const seen = new Promise<void>((r) => {
    resolve = r
  })
  const logger = Logger.make(({ message }) => {
    if ((message as ReadonlyArray<unknown>).join(" ").includes(text)) resolve()
  })
  return { seen, layer: Logger.layer([logger]) }
}
