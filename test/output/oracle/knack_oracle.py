"""Reference outputs from the real Azure CLI formatters (knack + tabulate + PyYAML + jmespath).

Not run by the test suite: the expected strings in test/output/*.test.ts were produced with it,
and it is what to re-run when a case is added or a doubt comes up. On Debian:
    apt-get install python3-knack   # pulls python3-tabulate, python3-yaml, python3-jmespath
    /usr/bin/python3 test/output/oracle/knack_oracle.py < cases.json > outputs.json

Input: a JSON list of cases {"data": ..., "format": "json|yaml|table|tsv|none",
"query": "..." (optional), "columns": [...] (optional)}.
Output: a JSON list with, per case, {"out": "<stdout text>"} or {"error": "<exception text>"}.

It mirrors knack's pipeline: the query runs with Options(OrderedDict) (knack/query.py); a None
result prints nothing (knack/cli.py); `columns` stands for a table transformer that picks those
keys, which knack ignores while a query is active (knack/output.py format_table).
"""
import json
import sys
from collections import OrderedDict

import jmespath
from knack.output import format_json, format_yaml, format_table, format_tsv, format_none
from knack.util import CommandResultItem

FORMATTERS = {'json': format_json, 'yaml': format_yaml, 'table': format_table, 'tsv': format_tsv,
              'none': format_none}


def run(case):
    result = case['data']
    query = case.get('query')
    if query is not None:
        result = jmespath.compile(query).search(result, jmespath.Options(OrderedDict))
    if result is None:
        return ''
    transformer = None
    columns = case.get('columns')
    if columns is not None:
        def transformer(res):
            def pick(item):
                if not isinstance(item, dict):
                    return item
                return OrderedDict((c, item.get(c)) for c in columns)
            return [pick(i) for i in res] if isinstance(res, list) else pick(res)
    item = CommandResultItem(result, table_transformer=transformer, is_query_active=query is not None)
    return FORMATTERS[case['format']](item)


def main():
    cases = json.load(sys.stdin)
    out = []
    for case in cases:
        try:
            out.append({'out': run(case)})
        except Exception as ex:  # pylint: disable=broad-except
            out.append({'error': '%s: %s' % (type(ex).__name__, ex)})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == '__main__':
    main()
