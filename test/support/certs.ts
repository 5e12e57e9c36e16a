/**
 * Test certificates, made with openssl when the tests run: a certificate authority, and node
 * certificates it signs whose subject CN is the node id, valid for localhost and 127.0.0.1.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface Pem {
  /** The files, for `--tls-cert` and friends. */
  readonly certFile: string
  readonly keyFile: string
  /** Their contents. */
  readonly cert: string
  readonly key: string
}

export interface Authority extends Pem {
  /** A certificate for `cn`, signed by this authority. */
  readonly issue: (cn: string) => Pem
}

const openssl = (args: ReadonlyArray<string>) => execFileSync("openssl", args, { stdio: "ignore" })

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

/** A new certificate authority in a fresh temporary directory. */
export const authority = (name = "Troupe test CA"): Authority => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-certs-"))
  const certFile = join(dir, "ca.pem")
  const keyFile = join(dir, "ca.key")
  openssl(["req", "-x509", ...ec, "-days", "1", "-subj", `/CN=${name}`, "-keyout", keyFile, "-out", certFile])
  const issue = (cn: string): Pem => {
    const base = join(dir, cn)
    const extensions = `${base}.ext`
    writeFileSync(extensions, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    openssl(["req", "-new", ...ec, "-subj", `/CN=${cn}`, "-keyout", `${base}.key`, "-out", `${base}.csr`])
    openssl([
      ...["x509", "-req", "-in", `${base}.csr`, "-CA", certFile, "-CAkey", keyFile, "-CAcreateserial"],
      ...["-days", "1", "-extfile", extensions, "-out", `${base}.pem`]
    ])
    return {
      certFile: `${base}.pem`,
      keyFile: `${base}.key`,
      cert: readFileSync(`${base}.pem`, "utf8"),
      key: readFileSync(`${base}.key`, "utf8")
    }
  }
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), issue }
}
