import { defineConfig } from 'vite';

// Relative asset URLs, so the built page works from any folder (model files sit beside it in ./model/).
export default defineConfig({ base: './', build: { target: 'es2022', chunkSizeWarningLimit: 4000 } });
