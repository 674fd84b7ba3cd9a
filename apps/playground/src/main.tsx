/** Entry point: starts the kernel worker and renders the app. */
import { render } from 'preact';
import { App } from './app.js';
import { startWorker } from './client.js';
import './styles.css';

render(<App client={startWorker()} />, document.getElementById('app')!);
