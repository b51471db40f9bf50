export * from './cli';
export * from './pool';
export * from './reader';
export * from './verify';
export * from './wave';
