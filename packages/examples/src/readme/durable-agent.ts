import { tmpdir } from "node:os"
import { join } from "node:path"
import { Agent, DurableAgent, ScriptedModel, Turn } from "@troupe/llm"
import { Storage, Troupe } from "@troupe/runtime"

const troupe = await Troupe.start({
  services: [
    // offline, a scripted model answers; OpenAi.layerConfig() (reads OPENAI_API_KEY) for a real one
    ScriptedModel.layer([Turn.text("Your parcel left our warehouse yesterday.")]),
    // conversations are kept here (Storage.layerPostgres({ url }) for several processes)
    Storage.layerSqlite({ filename: join(tmpdir(), "troupe-readme-support.db") })
  ]
})
// One durable agent per customer: spawned by its first message, passivated when idle, its conversation in storage.
const support = troupe.agents(DurableAgent.entity("support", { name: "support", system: "You help customers." }))

// Stored before the agent sees it; sent again with the same id (a retry), it is answered from storage, once.
const ask = Agent.Protocol.Ask({ prompt: "Where is my parcel?" })
const answer = await support.get("customer-42").ask(ask, { durable: true, id: "request-1", timeout: "1 minute" })
const again = await support.get("customer-42").ask(ask, { durable: true, id: "request-1", timeout: "1 minute" })
console.log(answer)
console.log(`asked twice, answered once: ${again === answer}`)
await troupe.shutdown()
