/**
 * multipart/form-data bodies (RFC 7578) built into one Buffer, so a request body is sent in
 * one write and can be sent again on a redirect.
 */
import type { FormValue } from '../scenarios/define.js'

const CRLF = '\r\n'

function quote (s: string): string {
  return s.replace(/"/g, '%22').replace(/\r|\n/g, ' ')
}

export function encodeMultipart (fields: Record<string, FormValue>): { body: Buffer; contentType: string } {
  // Web Crypto: node:crypto loads on first use, not at every load thread's start
  const boundary = `----loadlens${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(12))).toString('hex')}`
  const parts: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && typeof value === 'object' && value.kind === 'file') {
      parts.push(Buffer.from(
        `--${boundary}${CRLF}Content-Disposition: form-data; name="${quote(name)}"; filename="${quote(value.filename)}"${CRLF}` +
        `Content-Type: ${value.contentType}${CRLF}${CRLF}`
      ))
      parts.push(Buffer.from(value.data.buffer, value.data.byteOffset, value.data.byteLength))
      parts.push(Buffer.from(CRLF))
    } else {
      parts.push(Buffer.from(`--${boundary}${CRLF}Content-Disposition: form-data; name="${quote(name)}"${CRLF}${CRLF}${String(value)}${CRLF}`))
    }
  }
  parts.push(Buffer.from(`--${boundary}--${CRLF}`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}
