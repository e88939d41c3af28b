#ifndef PACED_PLAN_CMD_H
#define PACED_PLAN_CMD_H

/*
 * The `paced plan` command line: options, config, the measured funnel
 * when asked, output. README.md, "Command line", is its contract.
 */

/* Runs `paced plan` with argv[0] == "plan" (borrowed). Returns the exit
 * code: 0, 1 (config or Redis), 2 (usage or bad input). */
int plan_main(int argc, char **argv);

#endif
