/** @troupe/runtime */
export {}
