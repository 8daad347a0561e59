/** Unit costs of rows and tasks, for the cost model and the --max-cost budget. */
/**
 * The unit cost of a row or a task: by "TYPE name", then by name; a task (type TASK, name
 * "UserClass.task") also by its bare task name.
 */
export function costLookup (costs: Record<string, number> | undefined): ((type: string, name: string) => number) | undefined {
  if (!costs || Object.keys(costs).length === 0) return undefined
  return (type, name) => costs[`${type} ${name}`] ?? costs[name] ??
    (type === 'TASK' ? costs[name.slice(name.indexOf('.') + 1)] ?? 0 : 0)
}
