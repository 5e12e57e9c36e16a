/**
 * A vitest reporter that writes what every test printed (console output, Effect's logs) to `tests.log`, so
 * that the console shows only the results, and the logs of the tests that failed (`silent: "passed-only"`).
 */
import { appendFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Reporter, TestModule } from "vitest/node"

export const path = join(import.meta.dirname, "..", "..", "tests.log")

export default class LogFile implements Reporter {
  private vitest: Parameters<NonNullable<Reporter["onInit"]>>[0] | undefined
  private written = 0

  onInit(vitest: NonNullable<LogFile["vitest"]>) {
    this.vitest = vitest
    writeFileSync(path, "")
  }

  onUserConsoleLog(log: { readonly content: string; readonly type: string; readonly taskId?: string }) {
    const task = log.taskId === undefined ? undefined : this.vitest?.state.idMap.get(log.taskId)
    const where = task === undefined ? "" : `${task.file?.name ?? ""} > ${task.name}`
    appendFileSync(path, `[${log.type}] ${where}\n${log.content.endsWith("\n") ? log.content : `${log.content}\n`}`)
    this.written++
  }

  onTestRunEnd(_modules: ReadonlyArray<TestModule>) {
    if (this.written > 0) process.stdout.write(`\nWhat the tests printed (${this.written} logs): tests.log\n`)
  }
}
