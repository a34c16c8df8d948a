import { describe, expect, it } from "vitest";

import { questionOf } from "./promptQuestion";

describe("questionOf", () => {
  it("reads the Alpaca template's instruction, and its input when there is one", () => {
    const plain =
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nAnna has 47 apples. How many now?\n\n### Response:\n";
    expect(questionOf(plain)).toBe("Anna has 47 apples. How many now?");
    const withInput =
      "Below is an instruction that describes a task, paired with an input.\n\n### Instruction:\nAdd the numbers.\n\n### Input:\n3 and 4\n\n### Response:\n";
    expect(questionOf(withInput)).toBe("Add the numbers.\n3 and 4");
  });

  it("reads the paper's indented template", () => {
    const paper =
      "Below is an instruction that describes a task.  \n\n                ### Instruction:\n                What is 2 + 3?\n                \n                ### Response:\n                ";
    expect(questionOf(paper)).toBe("What is 2 + 3?");
  });

  it("reads the last user turn of a chat template, and shows any other prompt whole", () => {
    const chat =
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 9 - 4?<|im_end|>\n<|im_start|>assistant\n";
    expect(questionOf(chat)).toBe("What is 9 - 4?");
    expect(questionOf("  Q: 2+2? A:")).toBe("Q: 2+2? A:");
  });
});
