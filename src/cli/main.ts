import { Command } from 'commander';
import { registerStackCommands } from './stack-command.js';

const program = new Command('bcss')
  .description('The social-security data-exchange switch: gateway, directory, authorizations, audit')
  .showHelpAfterError();

registerStackCommands(program);

await program.parseAsync(process.argv);
