// A throwaway self-signed certificate for 127.0.0.1 (P-256, one day), made with the machine's
// openssl: for TLS servers the tests start and then refuse to trust.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"

export interface SelfSignedCertificate {
  readonly key: Buffer
  readonly cert: Buffer
  /** The PEM file of the certificate (a CA bundle that trusts it). */
  readonly certPath: string
}

/** Writes key.pem and cert.pem into `dir` and returns them. */
export const selfSignedCertificate = (dir: string): SelfSignedCertificate => {
  const keyPath = join(dir, "key.pem")
  const certPath = join(dir, "cert.pem")
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1"
    ],
    { stdio: "ignore" }
  )
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), certPath }
}
