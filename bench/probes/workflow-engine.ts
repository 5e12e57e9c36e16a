/**
 * Probe (not a benchmark figure): what a durable step costs in Effect's own engine, `effect/workflow` on
 * `ClusterWorkflowEngine` + `SingleRunner` over SQL storage (SQLite here, through Troupe's SqlClient), to
 * compare with Troupe's journal (docs/durability.md). Run: node bench/probes/workflow-engine.ts
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import { Storage } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"
import { ClusterWorkflowEngine, SingleRunner } from "effect/cluster"
import { Activity, Workflow } from "effect/workflow"

const Steps = Workflow.make("Steps", {
  payload: { id: Schema.String, steps: Schema.Number },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id
})

const StepsLive = Steps.toLayer(({ steps }) =>
  Effect.gen(function* () {
    let total = 0
    for (let i = 0; i < steps; i++) {
      total += yield* Activity.make({ name: `step-${i}`, success: Schema.Number, execute: Effect.succeed(i) })
    }
    return total
  })
)

const dir = mkdtempSync(join(tmpdir(), "troupe-workflow-probe-"))
const sql = Storage.sqliteClient({ filename: join(dir, "wf.db") })
const engine = ClusterWorkflowEngine.layer.pipe(
  Layer.provideMerge(SingleRunner.layer({ runnerStorage: "sql" })),
  Layer.provide(NodeCrypto.layerDigest),
  Layer.provide(sql)
)
const program = Effect.gen(function* () {
  const runs = 20
  const steps = 10
  yield* Steps.execute({ id: "warm", steps })
  const start = performance.now()
  for (let i = 0; i < runs; i++) yield* Steps.execute({ id: `run-${i}`, steps })
  const ms = performance.now() - start
  console.log(
    `${runs} workflows of ${steps} activities: ${(ms / runs).toFixed(1)} ms per workflow, ${(ms / runs / steps).toFixed(2)} ms per activity`
  )
})
await Effect.runPromise(program.pipe(Effect.provide(StepsLive.pipe(Layer.provideMerge(engine)))))
rmSync(dir, { recursive: true, force: true })
process.exit(0)
