/**
 * The inspector of a backend with one agent per conversation (agents by the thousand)
 * keeps a bounded number of agents: the 1,000 most recently active, the others dropped from its state (they
 * were kept forever: the heap and every page's first state grew by each agent ever seen). The agents' turns
 * are published as their actors publish them (`AgentEvent.TurnDone` on the system's event stream); the heap of
 * real agents coming and going is in agentHeap.test.ts (TROUPE_LONG=1).
 */
import { assert, describe, it } from "@effect/vitest"
import { AgentEvent, Usage } from "@troupe/llm"
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { Inspector } from "../src/index.ts"

const turn = (agent: string) =>
  new AgentEvent.TurnDone({ agent, prompt: "hi", answer: "hello", steps: 1, usage: Usage.empty, cost: 0 })

describe("an inspector watching agents come and go", () => {
  it.live("keeps the 1,000 most recently active agents", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.ActorSystem
      const inspector = yield* Inspector.start(system, { port: 0 })
      for (let i = 0; i < 1_000; i++) yield* AgentEvent.publish(turn(`chat-${i}`))
      // chat-0 is active again (the most recent now), then ten more agents come: the ten least recent go
      yield* AgentEvent.publish(turn("chat-0"))
      for (let i = 1_000; i < 1_010; i++) yield* AgentEvent.publish(turn(`chat-${i}`))
      // the collector reads the events in order: once the last turn is in, all of them are
      const last = "agent:chat-1009"
      let agents: Record<string, { readonly turns: number }> = {}
      for (let tries = 0; tries < 600 && agents[last] === undefined; tries++) {
        agents = (yield* inspector.state).nodes[system.node]?.agents ?? {}
        if (agents[last] === undefined) yield* Effect.sleep("50 millis")
      }
      assert.isDefined(agents[last], "the last turn never reached the inspector's state")
      assert.strictEqual(Object.keys(agents).length, 1_000)
      assert.strictEqual(agents["agent:chat-0"]?.turns, 2)
      for (let i = 1; i <= 10; i++) assert.isUndefined(agents[`agent:chat-${i}`])
      assert.isDefined(agents["agent:chat-11"])
    }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer()))
  )
})
