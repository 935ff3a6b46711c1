export { BooleanFlag, ConfigError, LogFormat, LogLevel, PositiveInt, parseEnv } from './env.js';
export { createLogger, type Logger } from './logger.js';
