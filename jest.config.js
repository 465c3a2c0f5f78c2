// Unit tests of the lab extension's models (node, no browser): the models
// talk to a fake server client (lab-extension/test/fakeapi.ts).
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/lab-extension/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }]
  }
};
