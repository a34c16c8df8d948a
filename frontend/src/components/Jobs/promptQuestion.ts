/**
 * The question inside a rendered evaluation prompt: the instruction (and input) of the Alpaca
 * and LLM-Adapters templates, or the last user turn of a chat template. The predictions table
 * shows it instead of the whole template, which repeats in every row; the full prompt stays one
 * click away. A prompt of another shape is shown whole.
 */
const SECTION = /###\s*(Instruction|Input|Response):/g;
const CHAT_USER = /<\|im_start\|>user\s*([\s\S]*?)<\|im_end\|>|\[INST\]([\s\S]*?)\[\/INST\]|<\|user\|>([\s\S]*?)(?:<\|end\|>|<\|assistant\|>)/g;

function tidy(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .join("\n")
    .trim();
}

export function questionOf(prompt: string): string {
  const marks = [...prompt.matchAll(SECTION)];
  if (marks.some((m) => m[1] === "Instruction")) {
    const part = (name: string) => {
      const i = marks.findIndex((m) => m[1] === name);
      if (i < 0) return "";
      const start = (marks[i]?.index ?? 0) + (marks[i]?.[0].length ?? 0);
      const end = marks[i + 1]?.index ?? prompt.length;
      return tidy(prompt.slice(start, end));
    };
    return [part("Instruction"), part("Input")].filter(Boolean).join("\n");
  }
  const turns = [...prompt.matchAll(CHAT_USER)];
  const last = turns.at(-1);
  if (last) return tidy(last[1] ?? last[2] ?? last[3] ?? "");
  return prompt.trim();
}
