// Every built-in defense. The composition root picks what the config enables and registers them.
export * from './client-address/index.js';
export * from './ip-lists/index.js';
export * from './geo/index.js';
export * from './rate-limit/index.js';
export * from './form-token/index.js';
export * from './honeypot/index.js';
export * from './altcha/index.js';
export * from './captcha-image/index.js';
export * from './third-party-captcha/index.js';
export * from './content/index.js';
export * from './content/akismet.js';
