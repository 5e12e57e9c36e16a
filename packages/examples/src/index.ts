/** @troupe/examples */
export {}
