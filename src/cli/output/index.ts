/**
 * `--output/-o` and `--query` for every oep command, reproducing the Azure CLI (knack) byte for
 * byte so that scripts written against `az ml online-endpoint` keep working:
 *
 *   json   json.dumps(indent=2, sort_keys=True, ensure_ascii=False)      format-json.ts
 *   yaml   yaml.safe_dump(default_flow_style=False, allow_unicode=True)  format-yaml.ts
 *   table  knack's auto table through tabulate's "simple" format          format-table.ts
 *   tsv    knack's _TsvOutput                                            format-tsv.ts
 *   none   nothing
 *
 * As in knack, the query runs first (so a bad query fails whatever the format), and a result of
 * null/undefined prints nothing at all, in every format.
 *
 * The behaviour was checked against the real formatters (knack 0.10, tabulate 0.8, PyYAML 6,
 * jmespath 1.0) with test/output/oracle/knack_oracle.py, on the test cases and on thousands of
 * random values. Known differences, all outside JSON-like command results:
 * - int vs float: JS numbers carry no such bit; integral values print as ints (`1.0` -> `1`).
 * - tsv keeps the query's key order for every object the query built. In Python that holds for
 *   multi-select hashes (OrderedDicts) but not for the result of `merge()` (a plain, sorted dict).
 *   Integer-like keys of a multi-select hash come first in JS objects.
 * - yaml never writes anchors/aliases (PyYAML does when one object appears twice in a result).
 * - table widths count code points; tabulate with wcwidth installed counts East Asian wide
 *   characters as two columns and skips ANSI escapes.
 * - jmespath.js and Python's jmespath word their errors differently (both fail the same queries).
 */
import { OepError } from '../../errors.js';
import { formatJson } from './format-json.js';
import { formatTable, pickColumns } from './format-table.js';
import { formatTsv } from './format-tsv.js';
import { formatYaml } from './format-yaml.js';
import { toJsonData } from './py.js';
import { runQuery } from './query.js';

export { applyQuery } from './query.js';

export type OutputFormat = 'json' | 'yaml' | 'table' | 'tsv' | 'none';

export const OUTPUT_FORMATS: readonly OutputFormat[] = Object.freeze(['json', 'yaml', 'table', 'tsv', 'none'] as const);

/**
 * Parses an `--output` value. Like the Azure CLI (argparse with `type=str.lower`), the value is
 * case-insensitive. The colour variants `jsonc`/`yamlc` are not offered.
 */
export function parseOutputFormat(value: string): OutputFormat {
  const lower = value.toLowerCase();
  const found = OUTPUT_FORMATS.find((format) => format === lower);
  if (found === undefined) throw invalidFormat(value);
  return found;
}

function invalidFormat(value: string): OepError {
  const choices = OUTPUT_FORMATS.map((f) => `'${f}'`).join(', ');
  return new OepError('OEP_ERR_USAGE', `argument --output/-o: invalid choice: '${value}' (choose from ${choices})`, {
    hint: `Use one of: ${OUTPUT_FORMATS.join(', ')}.`,
  });
}

export interface RenderOptions {
  format: OutputFormat;
  /** A JMESPath expression (`--query`); undefined when not given. */
  query?: string;
  /**
   * Table columns, in order: the keys a command's table transformer would pick. As in knack, a
   * transformer only applies when no query is given (a query's result decides the columns), and
   * the usual table rules still hold for the picked keys (null, nested and id/type/etag values
   * are left out, headers get their first letter upper-cased). Ignored by other formats.
   */
  columns?: string[];
}

/** Returns the full text to write to stdout (ending with "\n", or "" for none / for undefined data). */
export function renderOutput(data: unknown, options: RenderOptions): string {
  if (!OUTPUT_FORMATS.includes(options.format)) throw invalidFormat(String(options.format));
  const query = runQuery(toJsonData(data), options.query);
  const result = query.result;
  if (result === undefined || result === null) return '';
  switch (options.format) {
    case 'json':
      return formatJson(result);
    case 'yaml':
      return formatYaml(result);
    case 'tsv':
      return formatTsv(result, (obj) => query.builtByQuery(obj));
    case 'table': {
      const transform = options.columns !== undefined && !query.active;
      const rows = transform ? pickColumns(result, options.columns!) : result;
      return formatTable(rows, { sortKeys: !query.active && !transform });
    }
    case 'none':
      return '';
    default: {
      // Reached only when a caller bypasses the type and parseOutputFormat.
      const format: never = options.format;
      throw invalidFormat(String(format));
    }
  }
}
