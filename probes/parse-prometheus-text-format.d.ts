/** Types for parse-prometheus-text-format (the package ships none): prom2json-shaped families. */
declare module 'parse-prometheus-text-format' {
  interface PromSample {
    value?: string
    labels?: Record<string, string>
    timestamp_ms?: string
    buckets?: Record<string, string>
    quantiles?: Record<string, string>
    count?: string
    sum?: string
  }
  interface PromFamily {
    name: string
    help: string
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
    metrics: PromSample[]
  }
  function parsePrometheusTextFormat (text: string): PromFamily[]
  export default parsePrometheusTextFormat
}
