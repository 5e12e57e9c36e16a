import { tmpdir } from "node:os"
import { join } from "node:path"
import { Agent, DurableAgent, ScriptedModel, Turn } from "@troupe/llm"
import { Troupe } from "@troupe/runtime"

// One durable agent per customer: spawned by its first message, passivated when idle, its conversation in storage.
const Support = DurableAgent.entity("support", { name: "support", system: "You help customers with their orders." })

const troupe = await Troupe.start({
  storage: { sqlite: join(tmpdir(), "troupe-readme-support.db") },
  // offline, a scripted model answers; OpenAi.layerConfig() (reads OPENAI_API_KEY) for a real one
  services: ScriptedModel.layer([Turn.text("Your parcel left our warehouse yesterday.")])
})
const agent = await troupe.entity(Support, "customer-42")

// Stored before the agent sees it; sent again with the same id (a retry), it is answered from storage, once.
const ask = Agent.Protocol.Ask({ prompt: "Where is my parcel?" })
const answer = await troupe.ask(agent, ask, { durable: true, id: "request-1", timeout: "1 minute" })
const again = await troupe.ask(agent, ask, { durable: true, id: "request-1", timeout: "1 minute" })
console.log(answer)
console.log(`asked twice, answered once: ${again === answer}`)
await troupe.shutdown()
