import { spawn } from "node:child_process"
import * as B from "./transport-baseline.ts"
const te = await B.transportEchoLatency({ samples: 3000 })
console.log(te)
