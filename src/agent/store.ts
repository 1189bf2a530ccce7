import { createStorage, type Storage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import type { LoadedConfig } from '../core/config/load.js';
import { secureFsDriver } from './fs-store-driver.js';

/** Builds the state store that the config names (static map of drivers: no computed imports). */
export async function createNodeStore(config: LoadedConfig['store']): Promise<Storage> {
  switch (config.driver) {
    case 'memory':
      return createStorage({ driver: memoryDriver() });
    case 'fs':
      return createStorage({ driver: secureFsDriver({ base: config.dataDir }) });
    case 'redis': {
      if (!config.redisUrl) throw new Error('config: store.redisUrl is required when store.driver is "redis"');
      const { default: redisDriver } = await import('unstorage/drivers/redis');
      return createStorage({ driver: redisDriver({ url: config.redisUrl, base: 'watchdocker' }) });
    }
  }
}
