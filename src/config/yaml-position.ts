import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A key path into a YAML document, as zod reports it: map keys and list indexes. */
export type YamlPath = ReadonlyArray<string | number>;

export interface YamlPosition {
  /** 1-based. */
  line: number;
  column: number;
  /** How many leading segments of the path exist in the document (the position is of the last of them). */
  matched: number;
}

/**
 * Where a path lives in a parsed YAML document: the value at the path (or its key, with `atKey`), else the deepest
 * part of the path that exists, else the document itself. The config loader, `flows check` and `qa check` all
 * report their problems at `file:line:column` through it.
 */
export function yamlPathPosition(doc: Document, lines: LineCounter, path: YamlPath, atKey = false): YamlPosition {
  let node: unknown = doc.contents;
  let best: Node | undefined = doc.contents ?? undefined;
  let matched = 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      matched++;
      if (i === path.length - 1 && atKey && pair.key) {
        best = pair.key as Node;
        break;
      }
      node = pair.value;
      best = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (!node) break;
      matched++;
      best = node as Node;
    } else break;
  }
  const pos = lines.linePos(best?.range?.[0] ?? 0);
  return { line: pos.line, column: pos.col, matched };
}
