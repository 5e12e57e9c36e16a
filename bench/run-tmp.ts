import * as B from "./transport-baseline.ts"

for (let i = 0; i < 3; i++) {
  const re = await B.rawWsEchoLatency({ samples: 2000 })
  const te = await B.transportEchoLatency({ samples: 2000 })
  console.log(
    `echo p50 raw ${re.p50Micros.toFixed(0)} transport ${te.p50Micros.toFixed(0)} ratio ${(te.p50Micros / re.p50Micros).toFixed(2)}`
  )
}
