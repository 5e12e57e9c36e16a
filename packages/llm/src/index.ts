/** @troupe/llm */
export {}
