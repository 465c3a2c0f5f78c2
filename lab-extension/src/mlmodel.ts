/**
 * Reading an `MLmodel` file (the YAML MLflow writes beside a model) for the
 * run page: flavors, the signature as a schema and where the input example
 * is. A small reader for the block YAML MLflow writes (mappings, scalars,
 * quoted strings folded over lines), not a general YAML parser. Pure
 * functions, unit-tested in `test/mlmodel.spec.ts`.
 */

/** A parsed YAML value: a mapping, a string or null. */
export type YamlValue = string | null | { [key: string]: YamlValue };

/** One column of a signature (`inputs` or `outputs`). */
export interface ISchemaColumn {
  name: string;
  type: string;
  required: boolean;
}

/** What the run page shows of a model's MLmodel file. */
export interface IModelSummary {
  flavors: string[];
  inputs: ISchemaColumn[] | null;
  outputs: ISchemaColumn[] | null;
  /** The input example's file, relative to the model's artifacts. */
  inputExamplePath: string | null;
}

const KEY_LINE = /^( *)([^\s:#][^:#]*?):(?: +(.*))?$/;

function unquote(raw: string): string | null {
  const text = raw.trim();
  if (text.startsWith("'") && text.endsWith("'") && text.length >= 2) {
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text.slice(1, -1);
    }
  }
  if (text === 'null' || text === '~' || text === '') {
    return null;
  }
  return text;
}

function isOpenQuote(raw: string): boolean {
  const text = raw.trim();
  if (text.startsWith("'")) {
    return !/^'(?:[^']|'')*'$/.test(text);
  }
  if (text.startsWith('"')) {
    return !/^"(?:[^"\\]|\\.)*"$/.test(text);
  }
  return false;
}

/** Parse the block mappings of an MLmodel file. */
export function parseYamlMapping(text: string): { [key: string]: YamlValue } {
  const root: { [key: string]: YamlValue } = {};
  // The open mappings, innermost last, with their key indentation.
  const stack: { indent: number; map: { [key: string]: YamlValue } }[] = [
    { indent: -1, map: root }
  ];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim() || line.trimStart().startsWith('#')) {
      continue;
    }
    const match = KEY_LINE.exec(line);
    if (!match) {
      continue; // A list or a form this reader does not need.
    }
    const indent = match[1].length;
    const key = match[2].trim();
    let raw = match[3] ?? '';
    while (stack.length > 1 && indent <= stack[stack.length - 1].indent) {
      stack.pop();
    }
    const parent = stack[stack.length - 1].map;
    if (raw === '') {
      const child: { [key: string]: YamlValue } = {};
      parent[key] = child;
      stack.push({ indent, map: child });
      continue;
    }
    // A quoted string folded over more lines.
    while (isOpenQuote(raw) && i + 1 < lines.length) {
      raw += ' ' + lines[++i].trim();
    }
    parent[key] = unquote(raw);
  }
  return root;
}

function schema(value: YamlValue | undefined): ISchemaColumn[] | null {
  if (typeof value !== 'string') {
    return null;
  }
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!Array.isArray(parsed)) {
      return null;
    }
    return parsed.map((column, index) => {
      const c = (column ?? {}) as Record<string, unknown>;
      const type =
        typeof c.type === 'string'
          ? c.type === 'tensor' && c['tensor-spec']
            ? `tensor ${JSON.stringify(c['tensor-spec'])}`
            : c.type
          : JSON.stringify(c.type ?? '');
      return {
        name: typeof c.name === 'string' ? c.name : `[${index}]`,
        type,
        required: c.required !== false
      };
    });
  } catch {
    return null;
  }
}

/** The flavors, signature and input example of an MLmodel file's text. */
export function summarizeMLmodel(text: string): IModelSummary {
  const doc = parseYamlMapping(text);
  const flavors = doc.flavors;
  const signature = doc.signature;
  const example = doc.saved_input_example_info;
  return {
    flavors: flavors && typeof flavors === 'object' ? Object.keys(flavors) : [],
    inputs:
      signature && typeof signature === 'object'
        ? schema(signature.inputs)
        : null,
    outputs:
      signature && typeof signature === 'object'
        ? schema(signature.outputs)
        : null,
    inputExamplePath:
      example && typeof example === 'object'
        ? typeof example.artifact_path === 'string'
          ? example.artifact_path
          : null
        : null
  };
}
