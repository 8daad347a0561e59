/** The HTTP clients a run can use for http:// (--http-client); apart from loadgen/http.ts so that the CLI can list them without loading undici. */
export type HttpClientKind = 'loadlens' | 'undici'
export const HTTP_CLIENTS: readonly HttpClientKind[] = ['loadlens', 'undici']
