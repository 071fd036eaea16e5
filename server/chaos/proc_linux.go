package chaos

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the server child if the harness dies,
// so an interrupted run leaves no server behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
