/** @troupe/transport */
export {}
