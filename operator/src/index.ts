export * from './cli';
export * from './json';
export * from './pool';
export * from './preflight';
export * from './provider';
export * from './reader';
export * from './verify';
export * from './wave';
