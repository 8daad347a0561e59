/**
 * Runs Debian's python3 (not the pyenv one on PATH) on a script, with text on stdin: the real
 * parsers of other ecosystems (csv, xml.etree, prometheus_client.parser) check our outputs.
 */
import { spawn } from 'node:child_process'

export const PYTHON = '/usr/bin/python3'

export function python (script: string, input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 exited ${code}: ${err}`))))
    child.stdin.end(input)
  })
}

/** Parses JSON printed by a python script. */
export async function pythonJson<T = unknown> (script: string, input = ''): Promise<T> {
  return JSON.parse(await python(script, input)) as T
}
