import { defineConfig } from 'vitepress';

// The docs site: `npm run docs:build` (API reference generated first from the api-extractor model).
export default defineConfig({
  title: 'transferkit',
  description: 'Transfer learning for TensorFlow.js',
  base: './',
  cleanUrls: false,
  // Raw benchmark outputs (docs/bench/*.jsonl, .txt) are linked as files, not pages.
  ignoreDeadLinks: [/^\.\/bench\//, /^bench\//],
  srcExclude: ['bench/**'],
  // api-documenter writes object types like `{ scale?: number; }` as text: not attribute syntax.
  markdown: { attrs: { disable: true } },
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide' },
      { text: 'CLI', link: '/cli' },
      { text: 'API', link: '/api/index' },
    ],
    sidebar: [
      {
        text: 'Guides',
        items: [
          { text: 'Start here', link: '/' },
          { text: 'Guide: every primitive', link: '/guide' },
          { text: 'Transfer learning, step by step', link: '/concepts' },
          { text: 'Learning-rate schedules', link: '/schedules' },
          { text: 'The transferkit command', link: '/cli' },
          { text: 'Vision models and weights', link: '/models' },
          { text: 'Text models (BERT family)', link: '/text' },
          { text: 'Frozen encoders (ONNX, TF.js)', link: '/encoders' },
          { text: 'Domain adaptation', link: '/adaptation' },
          { text: 'Hyperparameter search', link: '/tuning' },
          { text: 'Trials on queue workers', link: '/scale' },
          { text: 'Reliability: hostile files and crashes', link: '/reliability' },
        ],
      },
      {
        text: 'Figures',
        items: [
          { text: 'Results (ants vs bees)', link: '/results' },
          { text: 'Benchmarks', link: '/benchmarks' },
          { text: 'Performance notes', link: '/performance' },
        ],
      },
      { text: 'API reference', items: [{ text: 'transferkit', link: '/api/index' }] },
    ],
    search: { provider: 'local' },
  },
});
