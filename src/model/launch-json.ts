import { applyEdits, createScanner, findNodeAtLocation, format, modify, parseTree, ParseErrorCode, SyntaxKind, type Edit, type FormattingOptions, type JSONPath, type Node, type ParseError } from 'jsonc-parser';

/**
 * Adds a debug configuration to VS Code's launch.json text, or replaces the one of the same name,
 * and keeps the other configurations and every comment as they were: launch.json is JSON with
 * comments (and trailing commas) in practice, so it is edited with jsonc-parser (the parser of
 * VS Code's JSON language service) at the offsets of its parse, never parsed and re-printed.
 */
export class LaunchJsonError extends Error {}

/** A named configuration (VS Code finds it by `name`). */
export interface NamedConfiguration {
  name: string;
}

const BYTE_ORDER_MARK = '\ufeff';

export function mergeLaunchConfiguration(text: string | undefined, configuration: NamedConfiguration): string {
  if (text === undefined || text.trim() === '') {
    return `${JSON.stringify({ version: '0.2.0', configurations: [configuration] }, null, 2)}\n`;
  }
  // A byte order mark is not part of the JSON: edit what follows it, and keep it.
  const bom = text.startsWith(BYTE_ORDER_MARK) ? BYTE_ORDER_MARK : '';
  return bom + placeConfiguration(text.slice(bom.length), configuration);
}

/** The document with `configuration` in place of its namesake, or as the last configuration. */
function placeConfiguration(text: string, configuration: NamedConfiguration): string {
  const root = parseLaunchJson(text);
  if (root.type !== 'object') throw new LaunchJsonError('it does not hold a JSON object');
  const list = findNodeAtLocation(root, ['configurations']);
  if (!list) return applyFormatted(text, modifyOnce(text, ['configurations'], [configuration]), root);
  if (list.type !== 'array') throw new LaunchJsonError('its "configurations" is not a list');
  const same = (list.children ?? []).findIndex((item) => item.type === 'object' && findNodeAtLocation(item, ['name'])?.value === configuration.name);
  if (same >= 0) return applyFormatted(text, modifyOnce(text, ['configurations', same], configuration), list);
  return applyFormatted(text, appendEdit(text, list, configuration), list);
}

/** jsonc-parser's edit for one change: without formatting options, modify answers with just that. */
function modifyOnce(text: string, path: JSONPath, value: unknown, isArrayInsertion = false): Edit {
  return modify(text, path, value, { isArrayInsertion })[0]!;
}

/**
 * The edit that makes `value` the last item of `list`. After a trailing comma (JSONC allows one),
 * the item goes after it, so it is last with no comma of its own (modify would put it before the
 * comma); the line break before it is laid out by applyFormatted.
 */
function appendEdit(text: string, list: Node, value: unknown): Edit {
  const last = list.children?.at(-1);
  const comma = last === undefined ? undefined : trailingComma(text, last);
  if (comma === undefined) return modifyOnce(text, ['configurations', -1], value, true);
  return { offset: comma + 1, length: 0, content: `\n${JSON.stringify(value)}` };
}

/** The offset of the comma after `item` when only comments and blanks come between, else undefined. */
function trailingComma(text: string, item: Node): number | undefined {
  const scanner = createScanner(text, true);
  scanner.setPosition(item.offset + item.length);
  return scanner.scan() === SyntaxKind.CommaToken ? scanner.getTokenOffset() : undefined;
}

/**
 * Applies the edit and lays out only the text it put in (and the brackets around it, when the
 * container was empty): jsonc-parser's own formatting of an insertion re-lays the whole line it
 * lands on, which would reflow a neighbouring one-line configuration.
 */
function applyFormatted(text: string, edit: Edit, container: Node): string {
  const changed = applyEdits(text, [edit]);
  const wasEmpty = (container.children ?? []).length === 0;
  const range = wasEmpty ? { offset: container.offset, length: container.length + edit.content.length - edit.length } : { offset: edit.offset, length: edit.content.length };
  return applyEdits(changed, format(changed, range, formattingOf(text)));
}

/** The document's tree; the first syntax error, with its line, is refused (the file stays as it is). */
function parseLaunchJson(text: string): Node {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    const line = text.slice(0, first.offset).split('\n').length;
    throw new LaunchJsonError(`${describeParseError(first, text)} (line ${line})`);
  }
  if (!root) throw new LaunchJsonError('it ends too early (line 1)');
  return root;
}

/** A parse error in words a user can act on. */
function describeParseError(error: ParseError, text: string): string {
  const char = text[error.offset];
  switch (error.error) {
    case ParseErrorCode.UnexpectedEndOfComment:
      return 'a /* comment is never closed';
    case ParseErrorCode.UnexpectedEndOfString:
      return 'a string is never closed';
    case ParseErrorCode.InvalidEscapeCharacter:
    case ParseErrorCode.InvalidUnicode:
      return 'a string has a bad escape';
    case ParseErrorCode.EndOfFileExpected:
      return 'unexpected text after the end';
    case ParseErrorCode.PropertyNameExpected:
      return 'expected a property name';
    case ParseErrorCode.ColonExpected:
      return 'expected ":" after a property name';
    default:
      return char === undefined ? 'it ends too early' : `unexpected "${char}"`;
  }
}

/** New text follows the file's own line ends and indentation (tabs, or its first indent's width). */
function formattingOf(text: string): FormattingOptions {
  const indent = /^([ \t]+)\S/m.exec(text)?.[1] ?? '  ';
  return {
    eol: text.includes('\r\n') ? '\r\n' : '\n',
    insertSpaces: !indent.startsWith('\t'),
    tabSize: indent.startsWith('\t') ? 1 : indent.length,
  };
}
